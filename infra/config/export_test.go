package config

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// Locate runs the walk that places decoding problems on data decoded into
// a value of v's type, whether or not yaml.v3 finds a problem, and returns
// what it placed next to yaml.v3's own verdict. ok is false when data does
// not parse.
func Locate(data []byte, v any) (placed []*Error, yamlErr error, ok bool) {
	doc, err := parse(data)
	if err != nil || doc == nil {
		return nil, nil, false
	}
	t := reflect.TypeOf(v).Elem()
	l := &locator{what: "fuzz", seen: map[visit]bool{}, following: map[*yaml.Node]bool{}, structs: map[reflect.Type]*structInfo{}}
	l.node(doc, t, nil, nil)
	return l.errs, strictDecode(data, reflect.New(t).Interface()), true
}
