// The deadline of one command line, against slowloris: a line must be complete within
// Idle_Time of its first byte. smtp-server's socketTimeout bounds only silence, so a
// byte every Idle_Time - 1 s held a session forever. Owns one timer; what expiry does
// (421 4.4.2 and close) is the caller's.

export interface LineDeadline {
  /**
   * Tells whether a partial command line is buffered now. The clock starts at the first
   * `true` and runs on through later `true`s; `false` stops it.
   */
  update(partial: boolean): void;
}

/** `timeoutMs` is read when a line starts, so a reload's Idle_Time applies to the next line. */
export function createLineDeadline(timeoutMs: () => number, onExpire: () => void): LineDeadline {
  let timer: NodeJS.Timeout | null = null;
  return {
    update(partial) {
      if (!partial) {
        if (timer) clearTimeout(timer);
        timer = null;
      } else if (!timer) {
        timer = setTimeout(() => {
          timer = null;
          onExpire();
        }, timeoutMs());
        // The socket keeps the process alive while the session lasts, not this timer.
        timer.unref();
      }
    },
  };
}
