/** Phase 2: the real edgecore daemon with Device objects (filled in below). */
import type { Board } from './board.js';
import type { Suite } from './harness.js';

export async function daemonCases(_s: Suite, _b: Board, _o: { out: string; edgecore: string | undefined }): Promise<Record<string, unknown>> {
  return {};
}
