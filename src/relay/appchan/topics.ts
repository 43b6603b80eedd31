/**
 * The application channel's topic space on the relay's broker, for cloud consumers
 * (docs/appchannel.md). Nodes never reach it (they are confined to `edgecore/v1/nodes/<self>/`);
 * a consumer account is confined to the namespaces it is given:
 *
 *   edgecore/v1/apps/<namespace>/up/<node>/<topic>     relay → consumers   what an mqtt-target rule delivers
 *   edgecore/v1/apps/<namespace>/down/<node>/<topic>   consumers → relay   a message for an app on <node>
 */
export const APPS_ROOT = 'edgecore/v1/apps';

export const appTopics = {
  up: (namespace: string, node: string, topic: string) => `${APPS_ROOT}/${namespace}/up/${node}/${topic}`,
  down: (namespace: string, node: string, topic: string) => `${APPS_ROOT}/${namespace}/down/${node}/${topic}`,
  /** what the relay subscribes to on an external broker */
  downFilter: `${APPS_ROOT}/+/down/#`,
} as const;

/** A consumer's downlink publish, split; undefined when the topic is not one. */
export function parseDownTopic(topic: string): { namespace: string; node: string; rest: string } | undefined {
  const prefix = `${APPS_ROOT}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const parts = topic.slice(prefix.length).split('/');
  if (parts.length < 4 || parts[1] !== 'down' || !parts[0] || !parts[2]) return undefined;
  const rest = parts.slice(3).join('/');
  return rest ? { namespace: parts[0], node: parts[2], rest } : undefined;
}

/** Consumer usernames carry a prefix no node name can have (node names are DNS labels). */
export const CONSUMER_PREFIX = 'app.';

export const isConsumer = (username: string): boolean => username.startsWith(CONSUMER_PREFIX);

/**
 * What a consumer may touch: read `up/#` and write `down/#` of its namespaces ('*' = all).
 * `filter` may hold wildcards when subscribing; a wildcard in the namespace level needs '*'.
 */
export function consumerMay(namespaces: readonly string[], action: 'publish' | 'subscribe', topic: string): boolean {
  const prefix = `${APPS_ROOT}/`;
  if (!topic.startsWith(prefix)) return false;
  const [ns, dir] = topic.slice(prefix.length).split('/');
  if (ns === undefined || dir === undefined) return false;
  if (action === 'publish' ? dir !== 'down' : dir !== 'up' && dir !== '+' && dir !== '#') return false;
  if (action === 'subscribe' && (dir === '+' || dir === '#')) return false;
  if (namespaces.includes('*')) return true;
  return ns !== '+' && ns !== '#' && namespaces.includes(ns);
}
