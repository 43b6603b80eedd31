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
 * At most `limit` CONNECTs between arrival and CONNACK. In a reconnect storm every node knocks
 * within a second; served first come first served, the ones at the back wait longer than their
 * connect timeout (10 s), give up, and come back — the relay works through attempts nobody waits
 * for anymore. Beyond the limit a CONNECT is turned away at once (no password check, no session
 * work), and the node retries after its backoff.
 */
export class ConnectThrottle {
  private readonly pending = new WeakSet<object>();
  private count = 0;
  refused = 0;

  constructor(readonly limit: number) {}

  get inProgress(): number {
    return this.count;
  }

  /** a CONNECT arrived on `conn`: false when too many are in progress */
  begin(conn: Closable): boolean {
    if (this.count >= this.limit) {
      this.refused++;
      return false;
    }
    this.count++;
    this.pending.add(conn);
    conn.once('close', () => this.end(conn));
    return true;
  }

  /** its CONNACK went out, or the connection closed first */
  end(conn: object): void {
    if (this.pending.delete(conn)) this.count--;
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
