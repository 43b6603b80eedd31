/** edged's contract on the bus (filled in by the edged issue). */
export type EdgedMessage = { type: 'edged.resync' };
export interface EdgedReplies {
  'edged.resync': void;
}
