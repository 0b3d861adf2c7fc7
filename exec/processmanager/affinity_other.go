//go:build !linux

package processmanager

// affinitySupported reports whether CPUAffinity can bind processes: only
// on Linux.
const affinitySupported = false

// binder stands for the Linux binder; CPUAffinity fails outside Linux, so
// none is ever made.
type binder struct{}

func newBinder(int, []int) *binder { return &binder{} }

func (*binder) bind(bool) (int, error) { return 0, errAffinityUnsupported }

// checkCPUs accepts nothing outside Linux.
func checkCPUs([]int) ([]int, error) { return nil, errAffinityUnsupported }
