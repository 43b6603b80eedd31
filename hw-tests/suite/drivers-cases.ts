/**
 * Phase 1 of the HIL suite: the project's drivers (src/drivers, `builtinDrivers()`) against the
 * board's real kernel interfaces — sysfs GPIO with epoll edges, /dev/i2c-N SMBus ioctls, 16550
 * UARTs — with no daemon in between. The daemon cases (daemon-cases.ts) then run the same
 * hardware through the real edgecore bundle.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { builtinDrivers } from '../../src/drivers/index.js';
import { isDeviceUnavailable } from '../../src/drivers/errors.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../../src/drivers/types.js';
import type { Board } from './board.js';
import { assert, assertEqual, Fail, percentile, settlesTo, until, type Suite } from './harness.js';

/** edges / writes measured per latency case (the driver-level baseline of the daemon's figures) */
const SAMPLES = 20;

const ENV: DriverEnv = {
  sysfs: '/sys',
  dev: '/dev',
  log: { debug: () => undefined, warn: (m, f) => process.stderr.write(`driver warn: ${m} ${JSON.stringify(f ?? {})}\n`) },
};

function factory(protocol: string): DriverFactory {
  const f = builtinDrivers().find((d) => d.protocol === protocol);
  if (!f) throw new Fail(`no built-in driver for ${protocol}`);
  return f;
}

/** Validate like devicetwin does, then create and connect. */
async function open(protocol: string, config: Record<string, unknown>, visitors: PropertyVisitor[]): Promise<DeviceDriver> {
  const f = factory(protocol);
  const issues = f.validate(config, visitors);
  if (issues.length) throw new Fail(`${protocol} config refused: ${JSON.stringify(issues)}`);
  const d = f.create(config, ENV);
  await d.connect();
  return d;
}

const v = (property: string, config: Record<string, unknown>): PropertyVisitor => ({ property, config });

async function using<T>(d: DeviceDriver, fn: (d: DeviceDriver) => Promise<T>): Promise<T> {
  try {
    return await fn(d);
  } finally {
    await d.close();
  }
}

export async function driverCases(s: Suite, b: Board): Promise<void> {
  const g = b.gpio;
  const chip = g.chip;

  await s.case('driver gpio: input edges pushed by watch()', async (m) => {
    const button = v('button', { offset: g.offsets.button, direction: 'in', edge: 'both' });
    await g.drive('button', 0);
    await using(await open('gpio', { chip }, [button]), async (d) => {
      const seen: RawValue[] = [];
      const off = d.watch!(button, (x) => seen.push(x), (e) => seen.push(`error ${e.message}`));
      await sleep(50);
      const lat: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const level = i % 2 === 0 ? 1 : 0;
        const t0 = performance.now();
        await g.drive('button', level);
        await until(`edge ${i + 1}`, () => (seen.length > i ? true : undefined), 20_000, 1);
        lat.push(performance.now() - t0);
      }
      off();
      assertEqual(seen, Array.from({ length: SAMPLES }, (_, i) => i % 2 === 0), 'edge values');
      m.edgeLatencyMs = lat.map((x) => Math.round(x * 10) / 10);
      await g.drive('button', 1);
      await settlesTo('read() after the line went high', () => d.read(button), true);
      await g.drive('button', 0);
      return `p50 ${Math.round(percentile(lat, 50) * 10) / 10} ms over ${SAMPLES} edges`;
    });
  });

  await s.case('driver gpio: output write reaches the line', async (m) => {
    const led = v('led', { offset: g.offsets.led, direction: 'out' });
    await using(await open('gpio', { chip }, [led]), async (d) => {
      await d.write(led, true);
      await settlesTo('line after write(true)', () => g.level('led'), 1);
      await d.write(led, false);
      await settlesTo('line after write(false)', () => g.level('led'), 0);
      const lat: number[] = [];
      for (let i = 0; i < SAMPLES / 2; i++) {
        const level = i % 2 === 0 ? 1 : 0;
        const t0 = performance.now();
        await d.write(led, level === 1);
        await until(`the line at ${level}`, async () => ((await g.level('led')) === level ? true : undefined), 20_000, 1);
        lat.push(performance.now() - t0);
      }
      m.writeLatencyMs = lat.map((x) => Math.round(x * 10) / 10);
    });
  });

  await s.case('driver gpio: active-low output and input', async () => {
    const relay = v('relay', { offset: g.offsets.relay, direction: 'out', activeLow: true, initial: false });
    const door = v('door', { offset: g.offsets.door, direction: 'in', activeLow: true, edge: 'both' });
    await using(await open('gpio', { chip }, [relay, door]), async (d) => {
      await d.read(relay); // opens the line at its initial level
      await settlesTo('active-low output, logical 0 → physical', () => g.level('relay'), 1);
      await d.write(relay, true);
      await settlesTo('active-low output, logical 1 → physical', () => g.level('relay'), 0);
      await g.drive('door', 0);
      await settlesTo('active-low input at physical 0', () => d.read(door), true);
      await g.drive('door', 1);
      await settlesTo('active-low input at physical 1', () => d.read(door), false);
    });
  });

  await s.case('driver gpio: debounce collapses a burst into one event', async () => {
    const bounce = v('bounce', { offset: g.offsets.bounce, direction: 'in', edge: 'both', debounceMs: 40 });
    await g.drive('bounce', 0);
    await using(await open('gpio', { chip }, [bounce]), async (d) => {
      const seen: RawValue[] = [];
      const off = d.watch!(bounce, (x) => seen.push(x), (e) => seen.push(`error ${e.message}`));
      await sleep(50);
      for (let i = 0; i < 6; i++) {
        await g.drive('bounce', 1);
        await g.drive('bounce', 0);
      }
      await g.drive('bounce', 1);
      await until('the debounced event', () => (seen.length >= 1 ? true : undefined));
      await sleep(200); // anything else would arrive within the debounce window
      off();
      assertEqual(seen, [true], 'events after a 13-edge burst');
      await g.drive('bounce', 0);
    });
  });

  const i2c = b.i2c;
  if (i2c) {
    const temp = v('temperature', { register: 0, width: 16, byteOrder: 'big', signed: true, scale: 1 / 256 });
    const proto = { bus: i2c.bus, address: i2c.tmp102, retries: 0 };
    await s.case('driver i2c: TMP102-style word read and scaled', async () => {
      await using(await open('i2c', proto, [temp]), async (d) => {
        if (!i2c.setTemperatureRaw) {
          const t = Number(await d.read(temp));
          assert(t > -40 && t < 85, `a plausible room temperature, got ${t}`);
          return `real sensor: ${t} °C`;
        }
        await i2c.setTemperatureRaw(0x1980); // 25.5 °C
        assertEqual(await d.read(temp), 25.5, 'temperature for 0x1980');
        await i2c.setTemperatureRaw(0xe700); // -25 °C
        assertEqual(await d.read(temp), -25, 'temperature for 0xE700');
      });
    });
    if (i2c.unplug && i2c.replug) {
      await s.case('driver i2c: absent chip is unavailable, then reads again', async () => {
        await i2c.setTemperatureRaw!(0x1980);
        await using(await open('i2c', proto, [temp]), async (d) => {
          await i2c.unplug!();
          try {
            await d.read(temp);
            throw new Fail('read of an absent chip succeeded');
          } catch (e) {
            assert(isDeviceUnavailable(e), `expected DeviceUnavailableError, got ${(e as Error).name}: ${(e as Error).message}`);
          } finally {
            await i2c.replug!();
          }
          assertEqual(await d.read(temp), 25.5, 'temperature after replug');
        });
      });
    }
  }

  const ser = b.serial;
  if (ser?.modbus) {
    const proto = { port: ser.modbus.port, baudRate: 115200, slaveId: ser.modbus.slaveId, timeoutMs: 500, reconnect: { attempts: 1 } };
    const tempIn = v('temperature', { register: 'input', address: 0, scale: 0.1 });
    const setpoint = v('setpoint', { register: 'holding', address: 10 });
    const fan = v('fan', { register: 'coil', address: 3 });
    await s.case('driver modbus-rtu: read an input register, scaled', async () => {
      await using(await open('modbus-rtu', proto, [tempIn]), async (d) => {
        const got = await d.read(tempIn);
        if (!ser.sim) {
          assert(typeof got === 'number' && Number.isFinite(got), `a number from a real slave, got ${JSON.stringify(got)}`);
          return `real slave: input register 0 × 0.1 = ${got}`;
        }
        assertEqual(got, 21.5, 'input register 0 × 0.1');
      });
    });
    if (ser.sim) {
      const sim = ser.sim;
      await s.case('driver modbus-rtu: holding register and coil writes reach the slave', async () => {
        await using(await open('modbus-rtu', proto, [setpoint, fan]), async (d) => {
          await d.write(setpoint, 1234);
          assertEqual(sim.state().holding['10'], 1234, 'slave holding[10]');
          assertEqual(await d.read(setpoint), 1234, 'read back');
          await d.write(fan, true);
          assertEqual(sim.state().coils['3'], 1, 'slave coil 3');
        });
      });
      await s.case('driver modbus-rtu: cable unplugged is unavailable, replugged reads again', async () => {
        await using(await open('modbus-rtu', proto, [tempIn]), async (d) => {
          await sim.control({ uart1: 'unplugged' });
          try {
            await d.read(tempIn);
            throw new Fail('read with the cable unplugged succeeded');
          } catch (e) {
            assert(isDeviceUnavailable(e), `expected an unavailable/timeout error, got ${(e as Error).name}: ${(e as Error).message}`);
          } finally {
            await sim.control({ uart1: 'plugged' });
          }
          const back = await until('reads after replug', async () => (await d.read(tempIn)) as number);
          assertEqual(back, 21.5, 'after replug');
        });
      });
    }
  }
  if (ser?.line) {
    await s.case('driver serial-line: request/response over a 16550 UART', async () => {
      const value = v('value', { request: 'READ?', response: '^VALUE=(\\d+)$', type: 'number', scale: 0.1 });
      const proto = { port: ser.line!.port, baudRate: 115200, lineEnding: '\n', timeoutMs: 1000 };
      await using(await open('serial-line', proto, [value]), async (d) => {
        assertEqual(await d.read(value), 21.5, 'VALUE=215 × 0.1');
      });
    });
  }
  if (ser?.loopback) {
    await s.case('driver serial-line: a request comes back through a loopback', async () => {
      const echo = v('echo', { request: 'PING-HIL', response: '^(PING-HIL)$', type: 'string' });
      await using(await open('serial-line', { port: ser.loopback!, baudRate: 115200, lineEnding: '\n', timeoutMs: 1000 }, [echo]), async (d) => {
        assertEqual(await d.read(echo), 'PING-HIL', 'the echoed request');
      });
    });
  }
}
