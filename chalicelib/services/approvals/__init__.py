"""The human approval steps: requesting (links, escalation, reassignment, resubmission), deciding (signed
decisions, batches, signature checks), read views and the messages approvers receive.

The Step Functions task token of a waiting step is stored behind a single-use link; whoever holds the newest
pending link for the step can decide it. Escalation, reassignment and resubmission all issue a new link for
the same waiting step (voiding the old one), so the execution continues rather than restarts.
"""
