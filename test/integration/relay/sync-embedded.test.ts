/** The sync suite against the relay's embedded aedes broker. */
import { syncSuite } from './suite.js';

syncSuite('embedded');
