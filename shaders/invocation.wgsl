// Prepended to every hand-written shader by crates/hilum-detect/src/wgsl.rs,
// after the size constants: how an invocation is numbered, which must match
// how `wgsl::dispatch` lays out the workgroups (64 lanes each, in rows of at
// most 65 535 workgroups).

fn invocation(workgroup: vec3<u32>, workgroups: vec3<u32>, lane: u32) -> u32 {
    return (workgroup.x + workgroup.y * workgroups.x) * 64u + lane;
}
