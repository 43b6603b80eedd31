/**
 * The one schema of edgecore's config file. Unknown keys are refused everywhere; every field
 * has a default so an empty file is a valid config. Each module owns its section's schema.
 */
import { hostname } from 'node:os';
import { devicetwinConfig } from '../modules/devicetwin/config.js';
import { edgedConfig } from '../modules/edged/config.js';
import { edgehubConfig } from '../modules/edgehub/config.js';
import { eventbusConfig } from '../modules/eventbus/config.js';
import { meshConfig } from '../modules/mesh/config.js';
import { metamanagerConfig } from '../modules/metamanager/config.js';
import { nodestatusConfig } from '../modules/nodestatus/config.js';
import { servicebusConfig } from '../modules/servicebus/config.js';
import * as z from 'zod';
import { section } from '../lib/schema.js';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const configSchema = section({
  node: section({
    /** the node's name (DNS label); defaults to the host name */
    name: z
      .string()
      .max(63)
      .regex(NAME, 'must be a DNS label: lower-case letters, digits and -')
      .default(() => hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '') || 'edge-node'),
    labels: z.record(z.string(), z.string()).default({}),
  }),
  /** where the store and all node state live */
  dataDir: z.string().min(1).default('/var/lib/edgecore'),
  log: section({
    level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    format: z.enum(['json', 'text']).default('text'),
  }),
  /** host paths, all configurable (containers, tests and other distributions differ) */
  paths: section({
    sysfs: z.string().default('/sys'),
    procfs: z.string().default('/proc'),
    dev: z.string().default('/dev'),
    dockerSocket: z.string().default('/var/run/docker.sock'),
  }),
  /** how long each module gets to stop on SIGTERM/SIGINT */
  shutdownTimeoutSeconds: z.number().int().min(1).max(600).default(20),
  /** the operations endpoint: plain HTTP on loopback with /healthz and /metrics (Prometheus) */
  ops: section({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(10350),
    /** serve /metrics (and count what it shows) */
    metrics: z.boolean().default(true),
  }),
  /** systemd watchdog pings follow a real health check */
  health: section({
    checkIntervalSeconds: z.number().int().min(1).default(10),
  }),
  modules: section({
    metamanager: metamanagerConfig,
    edged: edgedConfig,
    devicetwin: devicetwinConfig,
    eventbus: eventbusConfig,
    edgehub: edgehubConfig,
    nodestatus: nodestatusConfig,
    servicebus: servicebusConfig,
    mesh: meshConfig,
  }),
});

export type EdgecoreConfig = z.output<typeof configSchema>;
export type ModuleName = keyof EdgecoreConfig['modules'];
