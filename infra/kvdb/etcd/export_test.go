package etcd

// WithListPaging makes the plugin list in a first page of at most first keys,
// then in pages of about pageBytes, so that tests cover paging with few keys.
func WithListPaging(first, pageBytes int64) Option {
	return func(p *Plugin) { p.paging = listPaging{first: first, pageBytes: pageBytes} }
}
