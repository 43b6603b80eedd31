/** Types for scripts/busybox-image.mjs (used by the TypeScript tests). */
export declare const BUSYBOX_IMAGE: string;
export declare const BUSYBOX_CANDIDATES: string[];
export declare function elfInterpreter(buf: Buffer): string | undefined;
export declare function findStaticBusybox(candidates?: string[]): string;
export declare function ensureBusyboxImage(opts?: { name?: string; host?: string; busybox?: string; verify?: boolean; log?: (msg: string) => void }): string;
