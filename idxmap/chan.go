package idxmap

import "sync"

// ToChan is the channel form of Watch: it sends every event of m to ch. A
// send waits until ch has room, so a reader that falls behind holds back
// the watch (and, once its queue is full, the writers of m) rather than
// losing events. Unregister ends the watch and abandons a pending send, so
// the reader may stop reading first. ToChan does not close ch: its owner
// does, after Unregister.
func ToChan[V any](m NamedMapping[V], subscriber string, ch chan<- Event[V], opts ...WatchOption) (Registration, error) {
	if ch == nil {
		return nil, ErrNoSubscriber
	}
	stop := make(chan struct{})
	reg, err := m.Watch(subscriber, func(ev Event[V]) {
		select {
		case ch <- ev:
		case <-stop:
		}
	}, opts...)
	if err != nil {
		return nil, err
	}
	return &chanRegistration{Registration: reg, stop: stop}, nil
}

// chanRegistration unblocks a pending send when unregistered.
type chanRegistration struct {
	Registration
	stop chan struct{}
	once sync.Once
}

func (r *chanRegistration) Unregister() {
	r.once.Do(func() { close(r.stop) })
	r.Registration.Unregister()
}

// WatchFuncs adapts a set of functions to a Watch callback, in the style of
// an event handler with one method per kind: nil functions are skipped.
type WatchFuncs[V any] struct {
	OnCreate func(name string, value V)
	OnUpdate func(name string, old, value V)
	OnDelete func(name string, old V)
}

// Callback returns the function to give to Watch.
func (f WatchFuncs[V]) Callback() func(Event[V]) {
	return func(ev Event[V]) {
		switch ev.Kind {
		case EventCreate:
			if f.OnCreate != nil {
				f.OnCreate(ev.Name, ev.New)
			}
		case EventUpdate:
			if f.OnUpdate != nil {
				f.OnUpdate(ev.Name, ev.Old, ev.New)
			}
		case EventDelete:
			if f.OnDelete != nil {
				f.OnDelete(ev.Name, ev.Old)
			}
		}
	}
}
