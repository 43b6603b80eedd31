/**
 * A line-protocol instrument simulator on the far end of a pty pair:
 *   "MEAS:TEMP?" → "TEMP=<t>"     "SP?" → "SP=<sp>"      "SET:SP <v>" → "OK" (or "ERR range")
 *   "ID?" → "ACME,TH-1,42"         "BAD?" → "ERR 5"       "MUTE?" → (no answer)
 */
import { ReadlineParser, SerialPort } from 'serialport';

export class InstrumentSim {
  temp = 21.5;
  setpoint = 18;
  readonly received: string[] = [];
  private port: SerialPort | undefined;

  async open(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    port.on('error', () => undefined);
    const lines = port.pipe(new ReadlineParser({ delimiter: '\r\n' }));
    lines.on('data', (line: string) => this.handle(port, line));
    this.port = port;
  }

  private handle(port: SerialPort, line: string): void {
    this.received.push(line);
    const reply = (s: string): void => void port.write(`${s}\r\n`);
    if (line === 'MEAS:TEMP?') return reply(`TEMP=${this.temp.toFixed(2)}`);
    if (line === 'SP?') return reply(`SP=${this.setpoint}`);
    if (line === 'ID?') return reply('ACME,TH-1,42');
    if (line === 'BAD?') return reply('ERR 5');
    if (line === 'MUTE?') return;
    const m = /^SET:SP (-?[0-9.]+)$/.exec(line);
    if (m) {
      const v = Number(m[1]);
      if (v < 5 || v > 35) return reply('ERR range');
      this.setpoint = v;
      return reply('OK');
    }
    reply('ERR unknown');
  }

  async close(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((res) => p.close(() => res()));
  }
}
