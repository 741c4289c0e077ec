"""The terminal channel (``careline chat``): one patient typing, or a script piping lines."""
