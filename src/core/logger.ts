/**
 * A small structured logger. One line per record to a writable (stdout under systemd,
 * which journald captures). JSON for machines, text for people. Namespaced children
 * share the sink and level of their parent; there is no global logger.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'json' | 'text';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  readonly name: string;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(name: string): Logger;
}

export interface LogSink {
  write(line: string): unknown;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  sink?: LogSink;
  now?: () => Date;
}

function renderValue(v: unknown): unknown {
  if (v instanceof Error) return { message: v.message, name: v.name, ...(('code' in v && v.code) ? { code: v.code } : {}) };
  return v;
}

export function createLogger(opts: LoggerOptions, name = 'edgecore'): Logger {
  const sink = opts.sink ?? process.stdout;
  const now = opts.now ?? (() => new Date());
  const min = ORDER[opts.level];
  const emit = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < min) return;
    const rec: Record<string, unknown> = {};
    if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = renderValue(v);
    if (opts.format === 'json') {
      sink.write(JSON.stringify({ time: now().toISOString(), level, logger: name, msg, ...rec }) + '\n');
    } else {
      const extra = Object.entries(rec)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      sink.write(`${now().toISOString()} ${level.toUpperCase().padEnd(5)} [${name}] ${msg}${extra ? ' ' + extra : ''}\n`);
    }
  };
  return {
    name,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (sub) => createLogger({ ...opts, sink, now }, `${name}.${sub}`),
  };
}

/** A logger that drops everything (tests, quiet CLI paths). */
export function nullLogger(): Logger {
  return createLogger({ level: 'silent', format: 'text', sink: { write: () => true } });
}
