"""The preferences page's "how your digest is chosen" block: one tag, so the
page's own view knows nothing about feedback."""

from django import template

from newsletter.feedback.learning import taste_summary

register = template.Library()


@register.inclusion_tag("newsletter/feedback/_preferences.html")
def feedback_block(subscriber, token):
    return {"learned": taste_summary(subscriber=subscriber), "token": token}
