// The part of the standard `WebAssembly` global that the kernels use. TypeScript declares it only
// in its DOM libraries, which this Node-and-browser-neutral layer does not load.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array<ArrayBuffer>);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
