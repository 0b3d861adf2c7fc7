package main

import (
	"strings"
	"testing"

	"github.com/plinth-go/plinth/infra/config/configtest"
)

func TestTrafficConfDefaultsAndErrors(t *testing.T) {
	pc, path, write := configtest.FileConfig(t, trafficPluginName)
	write(t, []byte("acked-file: /tmp/a\n"))
	conf, found, err := loadTrafficConf(pc)
	if err != nil || !found || conf.Topic != defaultTrafficTopic || conf.Rate != defaultTrafficRate || conf.AckedFile != "/tmp/a" {
		t.Errorf("loadTrafficConf = %+v, %v, %v; want the defaults and the acked file", conf, found, err)
	}
	for _, bad := range []string{"rate: -1\n", "rate: 10001\n", "rate: fast\n", "topic: [a]\n", "speed: 3\n"} {
		write(t, []byte(bad))
		if _, _, err := loadTrafficConf(pc); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("traffic.conf %q: error %v, want one naming %s", bad, err, path)
		}
	}
	if _, found, err := loadTrafficConf(nil); found || err != nil {
		t.Errorf("loadTrafficConf(nil) = %v, %v; want disabled", found, err)
	}
}

// FuzzConfigFile checks that no traffic.conf makes the plugin panic, that
// every one accepted has a topic and a rate in range, and that every
// rejected one is reported with the path of the file.
func FuzzConfigFile(f *testing.F) {
	f.Add([]byte("topic: t\nrate: 500\nacked-file: a\nconsumed-file: c\n"))
	f.Add([]byte("rate: 0\n"))
	f.Add([]byte("rate: 99999999999999999999\n"))
	f.Add([]byte("topic: ''\nrate: -5\n"))
	pc, path, write := configtest.FileConfig(f, trafficPluginName)
	f.Fuzz(func(t *testing.T, data []byte) {
		write(t, data)
		conf, found, err := loadTrafficConf(pc)
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name %s: %v", path, err)
			}
		case found && (conf.Topic == "" || conf.Rate < 1 || conf.Rate > maxTrafficRate):
			t.Fatalf("accepted %q as %+v", data, conf)
		}
	})
}
