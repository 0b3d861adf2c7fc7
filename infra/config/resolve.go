package config

// Where a plugin's config came from, as Resolve names it for messages.
const (
	OriginDefault = "the default config"
	OriginCode    = "the config set in code (UseConf)"
)

// Resolve gives a plugin its config by precedence: the defaults in *v <
// the plugin's config file < code, the value its UseConf option set (nil
// when unset). The file is read even when code wins, so that a broken
// file is still an error. pc may be nil (no config source). It returns
// where the value came from for messages: OriginDefault, "config file
// <path>" or OriginCode. On an error, *v may hold part of the file.
func Resolve[T any](pc PluginConfig, code *T, v *T) (origin string, err error) {
	origin = OriginDefault
	if pc != nil {
		found, err := pc.LoadValue(v)
		if err != nil {
			return "", err
		}
		if found {
			origin = "config file " + pc.GetConfigName()
		}
	}
	if code != nil {
		*v, origin = *code, OriginCode
	}
	return origin, nil
}
