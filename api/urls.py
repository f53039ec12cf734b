from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

from api import imagery, quality, statistics, views

app_name = "api"
urlpatterns = [
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:openapi"), name="docs"),
    path("checks", views.CheckListView.as_view(), name="checks"),
    path("checks/<str:check_id>", views.CheckDetailView.as_view(), name="check"),
    path("jobs/<str:job_id>", views.JobDetailView.as_view(), name="job"),
    path("checks/<str:check_id>/rerun", views.CheckRerunView.as_view(), name="check-rerun"),
    path("projects/<str:code>/checks", views.ProjectChecksView.as_view(), name="project-checks"),
    path("gate/<str:code>", views.GateView.as_view(), name="gate"),
    path("checks/<str:check_id>/report", views.CheckReportView.as_view(), name="check-report"),
    path("checks/<str:check_id>/report.pdf", views.CheckReportPDFView.as_view(), name="check-report-pdf"),
    path("checks/<str:check_id>/verify", views.CheckVerifyView.as_view(), name="check-verify"),
    path("imagery/<slug:slug>/scenes", imagery.scenes, name="imagery-scenes"),
    path("layers/<slug:slug>/versions/<int:number>/quality", quality.QualityReportView.as_view(),
         name="quality-report"),
    path("layers/<slug:slug>/versions/<int:number>/quality.pdf", quality.QualityReportPDFView.as_view(),
         name="quality-report-pdf"),
    path("layers/<slug:slug>/versions/<int:number>/quality/run", quality.QualityRunView.as_view(),
         name="quality-run"),
    path("submissions", quality.SubmissionListView.as_view(), name="submissions"),
    path("submissions/overdue", quality.OverdueView.as_view(), name="submissions-overdue"),
    path("submissions/<int:pk>", quality.SubmissionDetailView.as_view(), name="submission"),
    path("submissions/<int:pk>/accept", quality.SubmissionAcceptView.as_view(), name="submission-accept"),
    path("submissions/<int:pk>/return", quality.SubmissionReturnView.as_view(), name="submission-return"),
    path("statistics", statistics.StatisticsView.as_view(), name="statistics"),
    path("statistics/monthly", statistics.MonthlyReportsView.as_view(), name="statistics-monthly"),
]
