import { moduleBase } from '../../config/restart.js';
import { section } from '../../lib/schema.js';

export const devicetwinConfig = section({
  ...moduleBase,
});
