"""The blog: posts, comments and tags, their pages, admin, services and tasks."""
