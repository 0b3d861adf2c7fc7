package logging

// Aborted returns the channel that [AsyncHook.Close] closes when its
// deadline passes, so that tests can order events after it.
func Aborted(a *AsyncHook) <-chan struct{} { return a.abort }
