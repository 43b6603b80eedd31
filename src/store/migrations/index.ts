/** Every migration of the node store, imported statically so the bundle carries them. Append only. */
import type { Migration } from '../../lib/sqlite.js';
import { m001 } from './001_resources.js';
import { m002 } from './002_outbox_meta.js';
import { m003 } from './003_manifests.js';
import { m004 } from './004_revisions.js';
import { m005 } from './005_app_channel.js';

export const NODE_MIGRATIONS: readonly Migration[] = [m001, m002, m003, m004, m005];
