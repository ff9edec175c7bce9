// Prepended to every hand-written shader by crates/hilum-detect/src/wgsl.rs,
// after the size constants and `invocations()` (how many invocations the
// kernel runs, a constant or a run-time size: the same Rust value sizes the
// dispatch): the one entry point. It
// numbers invocations as `wgsl::dispatch` lays out the workgroups (64 lanes
// each, in rows of at most 65 535 workgroups) and hands each one below
// `invocations()` to the shader's `run_invocation`; the last workgroup's spare
// lanes do nothing.

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) workgroups: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
) {
    let id = (workgroup.x + workgroup.y * workgroups.x) * 64u + lane;
    if id < invocations() {
        run_invocation(id);
    }
}
