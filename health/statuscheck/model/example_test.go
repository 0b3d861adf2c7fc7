package model_test

import (
	"encoding/json"
	"fmt"

	"github.com/plinth-go/plinth/health/statuscheck/model"
)

// The value of a plugin status key, and reading it back.
func ExamplePluginStatus_AppendJSON() {
	s := &model.PluginStatus{
		State: model.OperationalState_ERROR, LastChange: 1496322205, LastUpdate: 1496322361, Error: "VPP disconnected",
	}
	data := s.AppendJSON(nil)
	fmt.Println(string(data))

	var back model.PluginStatus
	if err := json.Unmarshal(data, &back); err != nil {
		fmt.Println(err)
	}
	fmt.Println(back.GetState(), back.GetError())
	fmt.Println(model.PluginStatusKey("GOVPP"))
	// Output:
	// {"state":2,"last_change":1496322205,"last_update":1496322361,"error":"VPP disconnected"}
	// ERROR VPP disconnected
	// check/status/v1/plugin/GOVPP
}
