/**
 * systeminformation's OS part alone (facts.ts): the package's index loads every area it knows
 * (graphics, wifi, printers, batteries, bluetooth...) and keeps them resident; the node reads
 * only the OS facts and ids. Types are the package's.
 */
declare module 'systeminformation/lib/osinfo.js' {
  export { osInfo, uuid } from 'systeminformation';
}
