package local

import "golang.org/x/sys/unix"

// szomb is a zombie's p_stat (SZOMB in <sys/proc.h>; x/sys/unix does not
// name it).
const szomb = 5

// processStartTime returns the start time of pid in microseconds since the
// epoch (kern.proc.pid's p_starttime), or 0 if it cannot be read or the
// process is a zombie (it has exited).
func processStartTime(pid int) uint64 {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid || kp.Proc.P_stat == szomb {
		return 0
	}
	t := kp.Proc.P_starttime
	return uint64(t.Sec)*1_000_000 + uint64(t.Usec)
}
