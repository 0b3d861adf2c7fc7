package config

// DirDefault is the cn-infra name of [DefaultDir], the config directory
// when neither DirFlag nor DirEnv is set.
const DirDefault = DefaultDir
