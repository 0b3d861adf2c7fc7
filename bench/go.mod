module github.com/plinth-go/plinth/bench

go 1.26.0

replace github.com/plinth-go/plinth => ../

require (
	github.com/plinth-go/plinth v0.0.0-00010101000000-000000000000
	github.com/sirupsen/logrus v1.10.2
	go.uber.org/fx v1.24.0
)

require (
	go.uber.org/dig v1.19.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
