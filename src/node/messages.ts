/**
 * Every message on the node's bus, as one discriminated union, and the replies to requests.
 * Each module declares its own messages in its folder (`messages.ts`); this file only joins
 * them, so core stays ignorant of modules and each module's contract lives beside its code.
 */
import type { DeviceMessage, DeviceReplies } from '../modules/devicetwin/messages.js';
import type { EdgedMessage, EdgedReplies } from '../modules/edged/messages.js';
import type { EventbusMessage, EventbusReplies } from '../modules/eventbus/messages.js';
import type { HubMessage, HubReplies } from '../modules/edgehub/messages.js';
import type { MeshMessage, MeshReplies } from '../modules/mesh/messages.js';
import type { MetaMessage, MetaReplies } from '../modules/metamanager/messages.js';
import type { ServicebusMessage, ServicebusReplies } from '../modules/servicebus/messages.js';

export type NodeMessage = MetaMessage | EdgedMessage | DeviceMessage | HubMessage | EventbusMessage | ServicebusMessage | MeshMessage;
export type NodeReplies = MetaReplies & EdgedReplies & DeviceReplies & HubReplies & EventbusReplies & ServicebusReplies & MeshReplies;
