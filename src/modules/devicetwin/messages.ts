/** devicetwin's contract on the bus (filled in by the devices issue). */
export type DeviceMessage = { type: 'devicetwin.resync' };
export interface DeviceReplies {
  'devicetwin.resync': void;
}
