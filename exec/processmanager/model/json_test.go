package model_test

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/plinth-go/plinth/exec/processmanager/model"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cnInfraTemplate is a template file as cn-infra wrote it.
const cnInfraTemplate = `{"name":"vpp","cmd":"/usr/bin/vpp","p_options":{"args":["-c","/etc/vpp/startup.conf"],"out_writer":true,"err_writer":true,
 "restart":3,"run_on_startup":true,"auto_terminate":true,"cpu_affinity_list":"1-2","cpu_affinity_delay":"2s"}}`

func TestDecodeTemplateReadsCnInfraFiles(t *testing.T) {
	got, err := model.DecodeTemplate([]byte(cnInfraTemplate))
	if err != nil {
		t.Fatal(err)
	}
	want := &model.Template{Name: "vpp", Cmd: "/usr/bin/vpp", POptions: &model.Template_POptions{
		Args: []string{"-c", "/etc/vpp/startup.conf"}, OutWriter: true, ErrWriter: true, Restart: 3,
		RunOnStartup: true, AutoTerminate: true, CpuAffinityList: "1-2", CpuAffinityDelay: "2s",
	}}
	if !proto.Equal(got, want) {
		t.Errorf("DecodeTemplate = %v, want %v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestEncodeTemplateWritesSnakeCaseKeys(t *testing.T) {
	tmpl, _ := model.DecodeTemplate([]byte(cnInfraTemplate))
	data, err := model.EncodeTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"p_options"`, `"run_on_startup": true`, `"cpu_affinity_delay": "2s"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("EncodeTemplate output lacks %s:\n%s", key, data)
		}
	}
	back, err := model.DecodeTemplate(data)
	if err != nil || !proto.Equal(back, tmpl) {
		t.Errorf("round trip = %v, %v; want %v", back, err, tmpl)
	}
}

func TestDecodeAndValidateRejectBadTemplates(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"unknown key", `{"cmd":"x","colour":"red"}`, "colour"},
		{"bad duration", `{"cmd":"x","p_options":{"stop_timeout":"10"}}`, "stop_timeout"},
		{"negative duration", `{"cmd":"x","p_options":{"cpu_affinity_delay":"-1s"}}`, "negative"},
		{"no name", `{"cmd":"x"}`, "no name"},
		{"slash in name", `{"name":"a/b","cmd":"x"}`, "contains"},
		{"dot dot", `{"name":"..","cmd":"x"}`, "not a file name"},
		{"no cmd", `{"name":"a"}`, "no cmd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := model.DecodeTemplate([]byte(tc.json))
			if err == nil {
				err = tmpl.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeTemplate checks that decoding never panics and that a decoded
// template survives an encode and decode unchanged. Seeds in
// testdata/fuzz/FuzzDecodeTemplate: a cn-infra file, camelCase keys, an
// unknown key.
func FuzzDecodeTemplate(f *testing.F) {
	f.Add([]byte(cnInfraTemplate))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := model.DecodeTemplate(data)
		if err != nil {
			return
		}
		_ = tmpl.Validate()
		out, err := model.EncodeTemplate(tmpl)
		if err != nil {
			t.Fatalf("EncodeTemplate of a decoded template: %v", err)
		}
		back, err := model.DecodeTemplate(out)
		if err != nil || !proto.Equal(back, tmpl) {
			t.Fatalf("round trip of %q: %v, %v", data, back, err)
		}
	})
}
