/**
 * edged's contract on the bus. Other modules (the local API, the relay bridge) use `pod.logs`
 * and `pod.exec`; `edged.resync` asks for an immediate reconcile.
 */
import type { Readable } from 'node:stream';
import type { PodUsage } from '../../contract/metrics.js';
import type { OpenRequest } from '../../contract/streams.js';
import type { OpenResult } from '../../node/sessions.js';

export interface PodRef {
  namespace: string;
  name: string;
  /** defaults to the pod's first container */
  container?: string;
}

export type EdgedMessage =
  | { type: 'edged.resync' }
  /** published when the node's runtime state in the store changed (the engine went away or came back) */
  | { type: 'node.runtime.changed' }
  /** logs of one container; `follow` keeps the stream open until the caller destroys it or the container ends */
  | { type: 'pod.logs'; pod: PodRef; tail?: number; sinceSeconds?: number; follow?: boolean; timestamps?: boolean; previous?: boolean }
  /** run a command in a running container and collect its output (non-interactive) */
  | { type: 'pod.exec'; pod: PodRef; command: string[]; stdin?: string; timeoutSeconds?: number }
  /** a session the relay opened (exec, attach, logs, portforward): edgehub carries its bytes */
  | { type: 'pod.stream'; request: OpenRequest }
  /** what the running pods' containers use now (kubectl top): pods seen for the first time come at the next ask */
  | { type: 'pod.usage' };

export interface PodLogsReply {
  container: string;
  containerId: string;
  /** stdout and stderr, demultiplexed and merged, in order */
  stream: Readable;
}

export interface PodExecReply {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface EdgedReplies {
  'edged.resync': void;
  'node.runtime.changed': void;
  'pod.logs': PodLogsReply;
  'pod.exec': PodExecReply;
  'pod.stream': OpenResult;
  'pod.usage': PodUsage[];
}
