import CSysbox

/// SIGRTMIN of this libc (not a compile-time constant).
func sysboxRTMin() -> Int32 { sysbox_sigrtmin() }
