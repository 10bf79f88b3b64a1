from django.shortcuts import render

from posts.selectors import post_list_recent


def home(request):
    return render(request, "posts/home.html", {"posts": post_list_recent(limit=50)})
