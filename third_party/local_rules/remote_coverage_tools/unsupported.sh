#!/bin/sh
echo "persephonee: coverage tools are not available offline (see third_party/local_rules)" >&2
exit 1
