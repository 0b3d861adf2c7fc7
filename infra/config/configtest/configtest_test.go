package configtest_test

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
)

type conf struct {
	Port int `yaml:"port"`
}

func TestFileConfigReadsTheWrittenFile(t *testing.T) {
	pc, path, write := configtest.FileConfig(t, "demo")
	write(t, []byte("port: 7\n"))
	var c conf
	found, err := pc.LoadValue(&c)
	if !found || err != nil || c.Port != 7 {
		t.Fatalf("LoadValue = %v, %v, %+v", found, err, c)
	}
	write(t, []byte("port: x\n"))
	if _, err := pc.LoadValue(&c); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadValue error = %v, want it to name %s", err, path)
	}
}
