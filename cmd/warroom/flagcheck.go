package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Empty values never widen a command. `deploy start R --env "$ENVS"` with
// ENVS unset must not become a run through every environment, production
// included: so an empty or blank value of any flag, an empty item of a
// comma-separated flag, and an empty positional argument are usage errors
// (exit 2), checked here for every command before it runs (root's
// PersistentPreRunE), so a new flag is covered without anyone remembering
// to. A flag whose empty value has a meaning of its own must say so with
// allowEmpty; TestEmptyFlagValues walks the command tree to keep it so.

const (
	// annotAllowEmpty marks a flag whose empty value means something (and
	// says what, for the test and the reader).
	annotAllowEmpty = "warroom/allow-empty"
	// annotCommaList marks a flag whose value is split at commas: each
	// item must be non-blank too.
	annotCommaList = "warroom/comma-list"
)

// allowEmpty lets flag name of fs take an empty value, which means what.
func allowEmpty(fs *pflag.FlagSet, name, what string) {
	if err := fs.SetAnnotation(name, annotAllowEmpty, []string{what}); err != nil {
		panic(err) // a programming error: the flag is not defined
	}
}

// commaList marks flag name of fs as a comma-separated list.
func commaList(fs *pflag.FlagSet, name string) {
	if err := fs.SetAnnotation(name, annotCommaList, []string{"true"}); err != nil {
		panic(err)
	}
}

// sliceValue is what pflag's repeatable flags (stringArray, stringSlice)
// implement.
type sliceValue interface{ GetSlice() []string }

// checkEmptyInput refuses an empty or blank value of any flag set on the
// command line, an empty item of a comma-separated flag, and an empty
// positional argument.
func checkEmptyInput(cmd *cobra.Command, args []string) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err == nil {
			err = checkFlagValue(f)
		}
	})
	if err != nil {
		return err
	}
	names := argNames(cmd)
	for i, arg := range args {
		if strings.TrimSpace(arg) == "" {
			name := fmt.Sprintf("argument %d", i+1)
			if i < len(names) {
				name = names[i]
			}
			return usageError{fmt.Errorf("%s: %s is empty: give a value (an unset shell variable is the usual cause)", cmd.CommandPath(), name)}
		}
	}
	return nil
}

func checkFlagValue(f *pflag.Flag) error {
	vals := []string{f.Value.String()}
	if sv, ok := f.Value.(sliceValue); ok {
		vals = sv.GetSlice()
		if len(vals) == 0 {
			vals = []string{""} // a stringSlice set to "" holds nothing
		}
	}
	_, mayBeEmpty := f.Annotations[annotAllowEmpty]
	_, list := f.Annotations[annotCommaList]
	for _, v := range vals {
		if strings.TrimSpace(v) == "" {
			if mayBeEmpty {
				continue
			}
			return usageError{fmt.Errorf("--%s %q is empty: give a value, or leave --%s out to get its default (an unset shell variable is the usual cause)", f.Name, v, f.Name)}
		}
		if !list {
			continue
		}
		for _, item := range strings.Split(v, ",") {
			if strings.TrimSpace(item) == "" {
				return usageError{fmt.Errorf("--%s %q has an empty item: list values separated by single commas (--%s a,b), or leave --%s out to get its default", f.Name, v, f.Name, f.Name)}
			}
		}
	}
	return nil
}

// argNames are the names of the positional arguments in a command's Use
// line ("skip RUN STEP --reason TEXT" -> RUN, STEP).
func argNames(cmd *cobra.Command) []string {
	fields := strings.Fields(cmd.Use)
	var out []string
	for _, f := range fields[min(1, len(fields)):] {
		if strings.HasPrefix(strings.TrimLeft(f, "["), "-") {
			break
		}
		out = append(out, strings.Trim(f, "[]."))
	}
	return out
}
