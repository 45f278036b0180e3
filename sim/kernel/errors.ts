// The errno values the kernel model can hand to a simulated program, with what each one means to a client.
export type Errno =
  /** Process descriptor table full (RLIMIT_NOFILE): socket(), accept(). */
  | 'EMFILE'
  /** No ephemeral port gives a unique 4-tuple toward this destination: connect(). */
  | 'EADDRNOTAVAIL'
  /** bind(addr, 0) found no free port for that address (bind-before-connect): connect() never ran. */
  | 'EADDRINUSE'
  /** RST in answer to a SYN: nothing listens there (or the listener went away). */
  | 'ECONNREFUSED'
  /** RST on an established connection: the peer aborted it. */
  | 'ECONNRESET'
  /** SYN retransmissions exhausted (Linux) or the connect timer expired (macOS). */
  | 'ETIMEDOUT'
  /** The process was killed (OOM) and its sockets died with it. */
  | 'EKILLED';
