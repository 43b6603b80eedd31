/** The sync suite against an external mosquitto (own process, generated password + ACL files). */
import { syncSuite } from './suite.js';

syncSuite('mosquitto');
