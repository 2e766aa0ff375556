"""Every message a user reads, rendered: templates → text and Block Kit, mrkdwn escaping,
Slack's limits checked; the digest's blocks, overflow and chart.

May import: `scoring` only. Nothing here posts, schedules or listens.
"""
