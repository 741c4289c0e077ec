"""The Lua scripts behind ``bot.handoff``: every state change of a held chat is one script, so
it is atomic across replicas (of two staff members claiming one chat, exactly one wins).

Every script takes the same first KEYS so the shared helpers can name them:
KEYS[1] the chat's state hash, [2] the open set (the queue), [3] the due set (timers),
[4] the console event stream, [5] the audit stream. The last ARGV is always the audit
stream's length bound.
"""

from __future__ import annotations

_HEAD = """
local function event(kind, conv, now, maxlen, extra)
  local args = {KEYS[4], 'MAXLEN', '~', maxlen, '*', 'event', kind, 'conversation', conv,
                'at', now}
  for _, v in ipairs(extra or {}) do table.insert(args, v) end
  redis.call('XADD', unpack(args))
end
local function audit(actor, action, conv, now, detail)
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[#ARGV], '*', 'at', now, 'actor', actor,
             'action', action, 'conversation', conv, 'detail', detail or '')
end
local function unschedule(conv)
  redis.call('ZREM', KEYS[3], 'wait|' .. conv, 'claim|' .. conv, 'idle|' .. conv,
             'alert|' .. conv)
end
"""

# KEYS[6] alert stream. ARGV: conv, now, reason, category, level, ttl, wait_delay, maxlen,
# lang, audit_maxlen.
# A chat not yet in front of staff goes to ``waiting`` and gets a ``wait`` task (the claim
# deadline is set when it runs, with the console's settings). A chat already waiting or held
# stays as it is, unless this is an emergency: then its level is raised, it goes to the top of
# the queue, the consoles (the holder's included) are told and the staff group is alerted.
# An emergency's staff-group alert is an ``alert`` task due at once. Returns 1 when the chat
# moved to ``waiting``, 2 when an emergency raised a chat already in front of staff, else 0.
ESCALATE = (
    _HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
local emergency = ARGV[3] == 'emergency' or ARGV[5] == 'emergency'
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'waiting' or state == 'staff' then
  if not emergency then return 0 end
  local before = redis.call('HGET', KEYS[1], 'reason') or ''
  if before ~= 'emergency' then
    redis.call('HSET', KEYS[1], 'first_reason', before)
  end
  redis.call('HSET', KEYS[1], 'reason', 'emergency', 'category', ARGV[4], 'level', 'emergency',
             'emergency_at', ARGV[2], 'activity', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  local holder = redis.call('HGET', KEYS[1], 'claimed_by') or ''
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'conversation', conv,
             'reason', 'emergency', 'category', ARGV[4], 'level', 'emergency', 'at', ARGV[2],
             'held_by', holder)
  redis.call('ZADD', KEYS[3], now, 'alert|' .. conv)
  event('escalated', conv, ARGV[2], ARGV[8], {'reason', 'emergency', 'category', ARGV[4],
        'level', 'emergency', 'again', '1', 'held_by', holder})
  audit('system', 'escalate', conv, ARGV[2], 'reason=emergency;state=' .. state)
  return 2
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'reason', ARGV[3], 'category', ARGV[4],
           'level', ARGV[5], 'since', ARGV[2], 'activity', ARGV[2])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'lang', ARGV[9]) end
if emergency then redis.call('HSET', KEYS[1], 'emergency_at', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[8], '*', 'conversation', conv,
           'reason', ARGV[3], 'category', ARGV[4], 'level', ARGV[5], 'at', ARGV[2])
redis.call('ZADD', KEYS[2], now, conv)
unschedule(conv)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[7]), 'wait|' .. conv)
if emergency then redis.call('ZADD', KEYS[3], now, 'alert|' .. conv) end
event('escalated', conv, ARGV[2], ARGV[8], {'reason', ARGV[3], 'category', ARGV[4],
      'level', ARGV[5]})
audit('system', 'escalate', conv, ARGV[2], 'reason=' .. ARGV[3])
return 1
"""
)

# KEYS[6] claim-times list. ARGV: conv, now, staff, idle_s, ttl, samples, maxlen, audit_maxlen
CLAIM = (
    _HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'staff' then
  if redis.call('HGET', KEYS[1], 'claimed_by') == ARGV[3] then return 2 end
  return -1
end
if state ~= 'waiting' then return 0 end
local since = tonumber(redis.call('HGET', KEYS[1], 'since') or ARGV[2])
redis.call('HSET', KEYS[1], 'state', 'staff', 'claimed_by', ARGV[3], 'claimed_at', ARGV[2],
           'activity', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZREM', KEYS[3], 'claim|' .. conv)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), 'idle|' .. conv)
local waited = tostring(math.max(0, now - since))
redis.call('LPUSH', KEYS[6], waited)
redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[6]) - 1)
event('claimed', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
audit(ARGV[3], 'claim', conv, ARGV[2], '')
return {1, waited}
"""
)

# Hand a chat to a colleague, or (a lead) take it over. The actor must hold the chat, or the
# chat must be waiting, or the actor must be a lead (ARGV[5] '1').
# ARGV: conv, now, actor, to, lead, idle_s, ttl, maxlen, audit_maxlen
ASSIGN = (
    _HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'waiting' and state ~= 'staff' then return 0 end
local holder = redis.call('HGET', KEYS[1], 'claimed_by') or ''
if state == 'staff' and holder ~= ARGV[3] and ARGV[5] ~= '1' then return -1 end
if state == 'staff' and holder == ARGV[4] then return 2 end
redis.call('HSET', KEYS[1], 'state', 'staff', 'claimed_by', ARGV[4], 'claimed_at', ARGV[2],
           'activity', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('ZREM', KEYS[3], 'claim|' .. conv)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), 'idle|' .. conv)
event('assigned', conv, ARGV[2], ARGV[8], {'by', ARGV[3], 'to', ARGV[4], 'from', holder})
audit(ARGV[3], 'assign', conv, ARGV[2], 'to=' .. ARGV[4] .. ';from=' .. holder)
return 1
"""
)

# A held chat goes back to the queue, unclaimed (its holder's account was disabled), with a
# new claim deadline. ARGV: conv, now, holder, why, claim_at, maxlen, audit_maxlen
UNCLAIM = (
    _HEAD
    + """
local conv = ARGV[1]
if redis.call('HGET', KEYS[1], 'state') ~= 'staff' then return 0 end
if redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'activity', ARGV[2])
redis.call('HDEL', KEYS[1], 'claimed_by', 'claimed_at', 'timed_out')
redis.call('ZREM', KEYS[3], 'idle|' .. conv)
redis.call('ZADD', KEYS[3], ARGV[5], 'claim|' .. conv)
event('unclaimed', conv, ARGV[2], ARGV[6], {'from', ARGV[3], 'why', ARGV[4]})
audit('system', 'unclaim', conv, ARGV[2], 'from=' .. ARGV[3] .. ';why=' .. ARGV[4])
return 1
"""
)

# Record a staff message already delivered: only the holder; restarts the idle timer.
# ARGV: conv, now, staff, idle_s, ttl, detail, maxlen, audit_maxlen
TOUCH = (
    _HEAD
    + """
local conv, now = ARGV[1], tonumber(ARGV[2])
if redis.call('HGET', KEYS[1], 'state') ~= 'staff' then return 0 end
if redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[3] then return -1 end
redis.call('HSET', KEYS[1], 'activity', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), 'idle|' .. conv)
event('staff_message', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
audit(ARGV[3], 'staff_message', conv, ARGV[2], ARGV[6])
return 1
"""
)

# Release (back to the bot) or close. A chat held by staff may be released or closed only
# by its holder (unless ARGV[4] is '0'); a waiting chat by any staff member, except an
# emergency, which someone must claim first (returns -2).
# ARGV: conv, now, actor, require_holder, action, ttl, maxlen, audit_maxlen
FINISH = (
    _HEAD
    + """
local conv = ARGV[1]
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'waiting' and state ~= 'staff' then return 0 end
if ARGV[4] == '1' and state == 'staff' and
   redis.call('HGET', KEYS[1], 'claimed_by') ~= ARGV[3] then
  return -1
end
if ARGV[4] == '1' and state == 'waiting' and
   (redis.call('HGET', KEYS[1], 'level') == 'emergency' or
    redis.call('HGET', KEYS[1], 'reason') == 'emergency') then
  return -2
end
redis.call('ZREM', KEYS[2], conv)
unschedule(conv)
if ARGV[5] == 'close' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'closed_by', ARGV[3], 'closed_at', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  event('closed', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
else
  redis.call('DEL', KEYS[1])
  event('released', conv, ARGV[2], ARGV[7], {'by', ARGV[3]})
end
audit(ARGV[3], ARGV[5], conv, ARGV[2], '')
return 1
"""
)

# Set the claim deadline of a chat still waiting. ARGV: conv, at, audit_maxlen
SCHEDULE_CLAIM = (
    _HEAD
    + """
if redis.call('HGET', KEYS[1], 'state') ~= 'waiting' then return 0 end
redis.call('ZADD', KEYS[3], ARGV[2], 'claim|' .. ARGV[1])
return 1
"""
)

# Take one due task if it is still due; do its state change; return the chat's fields.
# ARGV: conv, now, task, maxlen, audit_maxlen
TAKE_DUE = (
    _HEAD
    + """
local conv, now, task = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local member = task .. '|' .. conv
local score = redis.call('ZSCORE', KEYS[3], member)
if not score or tonumber(score) > now then return false end
redis.call('ZREM', KEYS[3], member)
local state = redis.call('HGET', KEYS[1], 'state')
local fields = redis.call('HGETALL', KEYS[1])
if task == 'idle' then
  if state ~= 'staff' then return false end
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], conv)
  unschedule(conv)
  event('released', conv, ARGV[2], ARGV[4], {'by', 'system', 'why', 'idle'})
  audit('system', 'idle_release', conv, ARGV[2], '')
elseif task == 'claim' then
  if state ~= 'waiting' then return false end
  redis.call('HSET', KEYS[1], 'timed_out', ARGV[2])
  event('timeout', conv, ARGV[2], ARGV[4], {})
  audit('system', 'claim_timeout', conv, ARGV[2], '')
elseif not state then
  return false
end
return fields
"""
)

# The patient wrote in a held chat: note when (unread markers) and whether they were already
# told that staff will reply. ARGV: conv, now, count ('1': this message may be told).
# Returns 1 the first time a message is counted, else 0.
PATIENT_WROTE = """
if not redis.call('HGET', KEYS[1], 'state') then return 0 end
redis.call('HSET', KEYS[1], 'patient_at', ARGV[2])
if ARGV[3] ~= '1' then return 0 end
return redis.call('HSETNX', KEYS[1], 'told', ARGV[2])
"""
