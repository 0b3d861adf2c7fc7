// Package model defines the process template: the proto message Template and
// its JSON form, the format of the template files of the process manager.
//
// # JSON
//
// Template files hold one Template as JSON with the proto field names
// (snake_case), as cn-infra wrote them:
//
//	{
//	  "name": "vpp",
//	  "cmd": "/usr/bin/vpp",
//	  "p_options": {
//	    "args": ["-c", "/etc/vpp/startup.conf"],
//	    "restart": 3,
//	    "run_on_startup": true,
//	    "cpu_affinity_list": "1-2",
//	    "cpu_affinity_delay": "2s"
//	  }
//	}
//
// DecodeTemplate also accepts the lowerCamelCase names protojson uses, and
// rejects unknown keys so that a misspelt option is an error instead of being
// ignored. Durations are strings with a unit, parsed by time.ParseDuration.
package model
