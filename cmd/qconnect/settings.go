package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// setting is one configuration value of `qconnect serve`. It can be given,
// from strongest to weakest, as a flag, as an environment variable or as a
// key of the --config file; otherwise its default applies.
type setting struct {
	key   string // flag name and config-file key
	env   string // environment variable
	usage string
}

// settings binds flags, environment and config file for one command.
type settings struct {
	fs   *flag.FlagSet
	list []setting
}

func newSettings(fs *flag.FlagSet) *settings { return &settings{fs: fs} }

func (s *settings) add(key, env, usage string) string {
	s.list = append(s.list, setting{key: key, env: env, usage: usage})
	if env != "" {
		return usage + " (env " + env + ")"
	}
	return usage
}

// resolve fills every flag that was not set on the command line from the
// environment, then from the config file (a YAML mapping of key: value).
// Unknown config keys are an error naming the file and line.
func (s *settings) resolve(getenv func(string) string, configPath string) error {
	set := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fileVals := map[string]string{}
	if configPath != "" {
		var err error
		if fileVals, err = readConfigFile(configPath, s.keys()); err != nil {
			return err
		}
	}
	for _, st := range s.list {
		if set[st.key] {
			continue
		}
		val, from := "", ""
		if v := getenv(st.env); st.env != "" && v != "" {
			val, from = v, "environment variable "+st.env
		} else if v, ok := fileVals[st.key]; ok {
			val, from = v, configPath+": key "+st.key
		} else {
			continue
		}
		if err := s.fs.Set(st.key, val); err != nil {
			return usageErrorf("%s: invalid value %q: %v", from, val, err)
		}
	}
	return nil
}

func (s *settings) keys() map[string]bool {
	k := map[string]bool{}
	for _, st := range s.list {
		k[st.key] = true
	}
	return k
}

// readConfigFile reads a flat YAML mapping of setting keys to scalars.
func readConfigFile(path string, known map[string]bool) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("cannot read the config file: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageErrorf("%s: %v", path, err)
	}
	out := map[string]string{}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, usageErrorf("%s:%d: the config file must be a mapping of setting: value", path, root.Line)
	}
	var problems []string
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case structuredKeys[k.Value]:
			continue // read by its own parser (backends.go)
		case !known[k.Value]:
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			problems = append(problems, fmt.Sprintf("%s:%d: unknown setting %q; known settings: %s", path, k.Line, k.Value, strings.Join(names, ", ")))
		case v.Kind != yaml.ScalarNode:
			problems = append(problems, fmt.Sprintf("%s:%d: setting %q must be a single value", path, v.Line, k.Value))
		default:
			if _, dup := out[k.Value]; dup {
				problems = append(problems, fmt.Sprintf("%s:%d: setting %q is given twice", path, k.Line, k.Value))
			}
			out[k.Value] = v.Value
		}
	}
	if len(problems) > 0 {
		return nil, usageErrorf("invalid config file:\n%s", strings.Join(problems, "\n"))
	}
	return out, nil
}
