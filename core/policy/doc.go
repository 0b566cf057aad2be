// Package policy decides who may do what in warroom: it resolves the
// actor (an OS login, or a delegate acting --as someone) to a declared
// person, maps each action to the roles allowed to take it (the
// organisation's policy object, else the documented defaults), and
// applies the four-eyes rules: nobody signs off what they asked for.
//
// Everything here is a pure function of the declared organisation and
// its inputs: no I/O, no clock. The CLI uses Decide before a command
// runs; the store uses FourEyes, Distinct and Expired inside its write
// transaction, so the rules hold for every writer, not only the CLI.
package policy
