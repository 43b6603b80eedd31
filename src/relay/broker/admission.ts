/**
 * Who the embedded broker lets in, decided before aedes spends anything on a connection:
 *
 * - **Connection cap.** Every MQTT connection (TCP, TLS, WebSocket) holds a file descriptor. At
 *   the process's open-file limit `accept()` fails for every listener, the HTTP API and
 *   /healthz included. The gate refuses connections beyond `limit − reserve` at once, so the
 *   API keeps its descriptors; refused nodes retry with their backoff.
 * - **Abandoned attempts.** A node that gives up on a connect attempt (10 s without CONNACK)
 *   closes that socket and tries again later; under load the relay may read the abandoned
 *   CONNECT only after the node's next attempt has connected, and a CONNECT for a connected
 *   client id takes its session over ([MQTT-3.1.4-2]) — the live connection was kicked. Each
 *   attempt names itself in its Will (edgehub: `{bootId, attempt}` in the presence payload);
 *   the ledger keeps the latest authenticated attempt per node and refuses older ones of the
 *   same boot. Client ids, sessions and `clean: false` stay as they are.
 */
/** what the gate needs of a connection (net.Socket, tls raw socket) */
export interface Closable {
  destroy(): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** the soft "Max open files" of /proc/<pid>/limits; undefined when absent or unlimited */
export function parseOpenFileLimit(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limits);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/**
 * The number of broker connections allowed: `configured` when set (> 0), else the open-file
 * limit minus `reserve` (descriptors kept for the API, the store and the process itself).
 */
export function connectionCap(configured: number, openFileLimit: number | undefined, reserve: number): number {
  if (configured > 0) return configured;
  if (openFileLimit === undefined) return Number.MAX_SAFE_INTEGER;
  return Math.max(1, openFileLimit - reserve);
}

export class ConnectionGate {
  private open = 0;
  refused = 0;
  peak = 0;

  constructor(readonly cap: number) {}

  get connections(): number {
    return this.open;
  }

  /** Count a new connection, or close it at once when the cap is reached (false). */
  admit(socket: Closable): boolean {
    if (this.open >= this.cap) {
      this.refused++;
      socket.destroy();
      return false;
    }
    this.open++;
    if (this.open > this.peak) this.peak = this.open;
    socket.once('close', () => this.open--);
    return true;
  }
}

/**
 * At most `limit` CONNECTs between arrival and CONNACK; the rest wait their turn in arrival order
 * (issue 19). Worked side by side, a reconnect storm's CONNECTs each take several event-loop
 * turns and every turn advances all of them, so none reaches its CONNACK before the node's 10 s
 * connect timeout: the node closes the attempt, retries, and the relay starts over (19,700 nodes:
 * 1,168 back after 4 min). Held, the ones in progress finish within a node's patience. A waiting
 * CONNECT costs nothing (no password check, no session work); one that waited longer than
 * `maxWaitMs` is turned away unserved (its node is about to give up on it), and one whose node
 * closed the socket leaves the line. Turning away at once instead of holding made storms slower:
 * a refused node backs off.
 */
export class ConnectThrottle {
  private readonly pending = new WeakSet<object>();
  private readonly line: { conn: Closable; go: (admitted: boolean) => void; at: number; gone: boolean }[] = [];
  private head = 0;
  private count = 0;
  /** turned away after waiting longer than maxWaitMs */
  refused = 0;
  /** CONNECTs that had to wait for a slot */
  held = 0;
  /** the longest line so far */
  longestLine = 0;

  constructor(
    readonly limit: number,
    readonly maxWaitMs: number = Number.POSITIVE_INFINITY,
    private readonly now: () => number = Date.now,
  ) {}

  get inProgress(): number {
    return this.count;
  }

  /** CONNECTs waiting for a slot */
  get waiting(): number {
    return this.line.length - this.head;
  }

  /** A CONNECT arrived on `conn`: `go(true)` once it may proceed (now or later), `go(false)` when it waited too long. */
  begin(conn: Closable, go: (admitted: boolean) => void): void {
    if (this.count < this.limit && this.waiting === 0) {
      this.admit(conn);
      return go(true);
    }
    this.held++;
    const w = { conn, go, at: this.now(), gone: false };
    this.line.push(w);
    this.longestLine = Math.max(this.longestLine, this.waiting);
    conn.once('close', () => {
      w.gone = true;
    });
  }

  /** its CONNACK went out, or the connection closed first: the next one in line goes */
  end(conn: object): void {
    if (this.pending.delete(conn)) this.count--;
    this.next();
  }

  private admit(conn: Closable): void {
    this.count++;
    this.pending.add(conn);
    conn.once('close', () => this.end(conn));
  }

  private next(): void {
    while (this.count < this.limit && this.head < this.line.length) {
      const w = this.line[this.head++]!;
      if (w.gone) continue;
      if (this.now() - w.at > this.maxWaitMs) {
        this.refused++;
        w.go(false);
        continue;
      }
      this.admit(w.conn);
      w.go(true);
    }
    if (this.head > 1024 && this.head * 2 > this.line.length) {
      this.line.splice(0, this.head);
      this.head = 0;
    }
  }
}

/** which connect attempt of which boot a CONNECT belongs to */
export interface AttemptMark {
  bootId: string;
  attempt: number;
}

/** The mark in a Will payload (edgehub's presence JSON); undefined when there is none. */
export function attemptMarkOf(willPayload: Buffer | string | undefined): AttemptMark | undefined {
  if (willPayload === undefined || willPayload.length === 0 || willPayload.length > 4096) return undefined;
  try {
    const v = JSON.parse(willPayload.toString()) as { bootId?: unknown; attempt?: unknown };
    if (typeof v.bootId !== 'string' || v.bootId.length === 0 || v.bootId.length > 128) return undefined;
    if (!Number.isSafeInteger(v.attempt) || (v.attempt as number) < 1) return undefined;
    return { bootId: v.bootId, attempt: v.attempt as number };
  } catch {
    return undefined;
  }
}

export class AttemptLedger {
  private readonly latest = new Map<string, AttemptMark>();
  staleRefused = 0;

  /** true when the node has already made a later attempt in the same boot (read-only check) */
  isStale(clientId: string, mark: AttemptMark | undefined): boolean {
    if (!mark) return false;
    const cur = this.latest.get(clientId);
    return !!cur && cur.bootId === mark.bootId && mark.attempt < cur.attempt;
  }

  /**
   * After the client authenticated: record its attempt as the latest, or refuse it (false) when
   * a later attempt of the same boot came first. Only authenticated attempts are recorded, so
   * nobody can block a node with made-up marks.
   */
  admit(clientId: string, mark: AttemptMark | undefined): boolean {
    if (!mark) return true;
    if (this.isStale(clientId, mark)) {
      this.staleRefused++;
      return false;
    }
    this.latest.set(clientId, mark);
    return true;
  }

  /** a deleted node's entry */
  forget(clientId: string): void {
    this.latest.delete(clientId);
  }
}
