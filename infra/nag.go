package main

import (
	"strings"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records that construct (and its children) knowingly breaks the
// cdk-nag rule id, with the one-line reason; appliesTo narrows it to
// findings such as "Resource::*" (a value between slashes is a regular
// expression).
func suppress(c constructs.IConstruct, id, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		var at []any
		for _, a := range appliesTo {
			if len(a) > 2 && strings.HasPrefix(a, "/") && strings.HasSuffix(a, "/") {
				at = append(at, &cdknag.RegexAppliesTo{Regex: jsii.String(a)})
			} else {
				at = append(at, a)
			}
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}
