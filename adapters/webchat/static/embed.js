// careline's web chat on another site: a button that opens the chat page in a frame.
// <script src="https://careline.example.org/webchat/embed.js" data-lang="zh" defer></script>
// The site must be listed in careline's CARELINE_WEBCHAT_ORIGINS, or the frame stays empty.
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const base = new URL(".", script.src);
  const lang = script.dataset.lang === "en" ? "en" : script.dataset.lang === "zh" ? "zh" : "";
  const labels = lang === "en" ? { open: "Chat with us", close: "Close" }
    : { open: "在线咨询", close: "关闭" };
  const page = new URL("./", base);
  if (lang) page.searchParams.set("lang", lang);

  const button = document.createElement("button");
  button.type = "button";
  button.id = "careline-webchat-button";
  button.textContent = labels.open;
  button.setAttribute("aria-expanded", "false");
  Object.assign(button.style, {
    position: "fixed", right: "18px", bottom: "18px", zIndex: "2147483000",
    padding: "10px 18px", border: "0", borderRadius: "22px", background: "#0b6e69",
    color: "#fff", font: "15px system-ui, sans-serif", cursor: "pointer",
    boxShadow: "0 2px 8px rgba(0,0,0,.25)",
  });

  let frame = null;
  button.addEventListener("click", () => {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "careline-webchat-frame";
      frame.src = page.href;
      frame.title = labels.open;
      Object.assign(frame.style, {
        position: "fixed", right: "18px", bottom: "72px", zIndex: "2147483000",
        width: "min(380px, calc(100vw - 36px))", height: "min(600px, calc(100vh - 96px))",
        border: "1px solid #c9d1d9", borderRadius: "12px", background: "#fff",
        boxShadow: "0 4px 18px rgba(0,0,0,.25)",
      });
      document.body.append(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    const open = !frame.hidden;
    button.textContent = open ? labels.close : labels.open;
    button.setAttribute("aria-expanded", String(open));
  });
  document.body.append(button);
})();
