// One backend interface for the whole UI. In the desktop app it is Tauri's IPC
// (one `call` command; answers arrive as raw bytes); in a browser it is
// `hilum serve` on loopback. Both forward to the same command table in
// crates/hilum-app/src/api.rs.

import { invoke } from "@tauri-apps/api/core";
import { decodeFrame } from "./geometry";
import type { Frame } from "./types";

export interface Backend {
  readonly kind: "tauri" | "http";
  json<T>(command: string, args?: unknown): Promise<T>;
  frame(command: string, args?: unknown): Promise<Frame>;
}

const decoder = new TextDecoder();

class TauriBackend implements Backend {
  readonly kind = "tauri";
  private async bytes(command: string, args: unknown): Promise<ArrayBuffer> {
    return invoke<ArrayBuffer>("call", { command, args: args ?? null });
  }
  async json<T>(command: string, args?: unknown): Promise<T> {
    return JSON.parse(decoder.decode(await this.bytes(command, args))) as T;
  }
  async frame(command: string, args?: unknown): Promise<Frame> {
    return decodeFrame(await this.bytes(command, args));
  }
}

class HttpBackend implements Backend {
  readonly kind = "http";
  private async post(command: string, args: unknown): Promise<Response> {
    const r = await fetch(`api/${command}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(args ?? null),
    });
    if (!r.ok) throw new Error(await r.text());
    return r;
  }
  async json<T>(command: string, args?: unknown): Promise<T> {
    return (await (await this.post(command, args)).json()) as T;
  }
  async frame(command: string, args?: unknown): Promise<Frame> {
    return decodeFrame(await (await this.post(command, args)).arrayBuffer());
  }
}

export function inTauri(): boolean {
  return "__TAURI_INTERNALS__" in window;
}

export function backend(): Backend {
  return inTauri() ? new TauriBackend() : new HttpBackend();
}

/** An error as one line for the status bar. */
export function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
